import type { ReactNode } from "react";
import "./globals.css";

// End users see the page, not the protocol: no "ROPC" in a tab title.
export const metadata = { title: { default: "Sign in", template: "%s" } };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
