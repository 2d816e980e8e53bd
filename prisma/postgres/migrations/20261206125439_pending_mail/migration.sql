-- CreateTable
CREATE TABLE "PendingMail" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "job" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "toAddress" TEXT,
    "dueAt" TIMESTAMP(3) NOT NULL,
    "claim" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PendingMail_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PendingMail_dueAt_idx" ON "PendingMail"("dueAt");

-- CreateIndex
CREATE INDEX "PendingMail_userId_idx" ON "PendingMail"("userId");

-- AddForeignKey
ALTER TABLE "PendingMail" ADD CONSTRAINT "PendingMail_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
