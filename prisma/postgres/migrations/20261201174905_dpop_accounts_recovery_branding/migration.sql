-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "authSigningAlg" TEXT,
ADD COLUMN     "dpopBoundAccessTokens" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "passwordResetUri" TEXT;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "dpopJkt" TEXT,
ADD COLUMN     "ip" TEXT,
ADD COLUMN     "userAgent" TEXT;

-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN     "brandAccent" TEXT,
ADD COLUMN     "brandHelpUrl" TEXT,
ADD COLUMN     "brandLogoImage" BYTEA,
ADD COLUMN     "brandLogoType" TEXT,
ADD COLUMN     "brandLogoUrl" TEXT,
ADD COLUMN     "brandName" TEXT,
ADD COLUMN     "brandPrivacyUrl" TEXT,
ADD COLUMN     "brandTermsUrl" TEXT,
ADD COLUMN     "dpopNonces" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "passwordMinLength" INTEGER NOT NULL DEFAULT 8;

-- CreateTable
CREATE TABLE "UsedDpopProof" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "UsedDpopProof_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccountToken" (
    "tokenHash" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "clientId" TEXT,
    "email" TEXT,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AccountToken_pkey" PRIMARY KEY ("tokenHash")
);

-- CreateIndex
CREATE INDEX "UsedDpopProof_expiresAt_idx" ON "UsedDpopProof"("expiresAt");

-- CreateIndex
CREATE INDEX "AccountToken_userId_purpose_createdAt_idx" ON "AccountToken"("userId", "purpose", "createdAt");

-- CreateIndex
CREATE INDEX "AccountToken_expiresAt_idx" ON "AccountToken"("expiresAt");

-- AddForeignKey
ALTER TABLE "AccountToken" ADD CONSTRAINT "AccountToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
