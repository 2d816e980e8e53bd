-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN     "brandAccent" TEXT,
ADD COLUMN     "brandHelpUrl" TEXT,
ADD COLUMN     "brandLogoImage" BYTEA,
ADD COLUMN     "brandLogoType" TEXT,
ADD COLUMN     "brandLogoUrl" TEXT,
ADD COLUMN     "brandName" TEXT,
ADD COLUMN     "brandPrivacyUrl" TEXT,
ADD COLUMN     "brandTermsUrl" TEXT;
