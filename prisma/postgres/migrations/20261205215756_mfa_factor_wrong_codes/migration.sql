-- AlterTable
ALTER TABLE "MfaFactor" ADD COLUMN     "wrongCodes" INTEGER NOT NULL DEFAULT 0;
