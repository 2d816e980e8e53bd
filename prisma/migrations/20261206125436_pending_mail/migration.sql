-- CreateTable
CREATE TABLE "PendingMail" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "job" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "toAddress" TEXT,
    "dueAt" DATETIME NOT NULL,
    "claim" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL,
    CONSTRAINT "PendingMail_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "PendingMail_dueAt_idx" ON "PendingMail"("dueAt");

-- CreateIndex
CREATE INDEX "PendingMail_userId_idx" ON "PendingMail"("userId");
