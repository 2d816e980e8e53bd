-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "idTokenSignedResponseAlg" TEXT NOT NULL DEFAULT 'ES256';
