-- AlterTable
ALTER TABLE "RefreshToken" ALTER COLUMN "authTime" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "Session" ALTER COLUMN "authTime" SET DATA TYPE BIGINT;
