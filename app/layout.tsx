import type { ReactNode } from "react";
import "./globals.css";

export const metadata = { title: { default: "Sign in", template: "%s · ROPC login kit" } };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
