-- AlterTable
ALTER TABLE "Client" ADD COLUMN "jwksUri" TEXT;
