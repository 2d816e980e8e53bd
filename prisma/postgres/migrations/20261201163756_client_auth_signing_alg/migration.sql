-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "authSigningAlg" TEXT;
