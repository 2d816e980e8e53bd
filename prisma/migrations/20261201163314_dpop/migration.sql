-- AlterTable
ALTER TABLE "Client" ADD COLUMN "dpopBoundAccessTokens" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN "dpopJkt" TEXT;

-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN "dpopNonces" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "UsedDpopProof" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "UsedDpopProof_expiresAt_idx" ON "UsedDpopProof"("expiresAt");
