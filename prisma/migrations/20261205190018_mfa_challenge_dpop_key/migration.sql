-- AlterTable
ALTER TABLE "MfaChallenge" ADD COLUMN "dpopJkt" TEXT;
