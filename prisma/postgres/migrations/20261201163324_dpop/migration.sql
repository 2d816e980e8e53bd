-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "dpopBoundAccessTokens" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "dpopJkt" TEXT;

-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN     "dpopNonces" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "UsedDpopProof" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "UsedDpopProof_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UsedDpopProof_expiresAt_idx" ON "UsedDpopProof"("expiresAt");
