import type { CSSProperties, ReactNode } from "react";
import { currentBranding, type PageBranding } from "@/lib/login/branding.ts";

/**
 * The frame of every page of the login app: the workspace's name and logo above the content, its
 * accent colour (a CSS custom property the buttons and links use), its links in the footer.
 * `card` is the narrow centred card of the sign-in pages; `wide` the account pages' column;
 * `className` adds a page's own class to the column. `branded={false}` gives the default look (no
 * name, logo, colour or links): for a page about another workspace's account, which this app's
 * workspace must not appear to own.
 */
export async function PageFrame({
  width = "card",
  className,
  branded = true,
  children,
}: {
  width?: "card" | "wide";
  className?: string;
  branded?: boolean;
  children: ReactNode;
}) {
  const branding: PageBranding = branded ? await currentBranding() : { links: [] };
  const style = branding.accent ? ({ "--accent": branding.accent } as CSSProperties) : undefined;
  return (
    <div className="page" style={style}>
      <main className={className ? `${width} ${className}` : width}>
        {(branding.name || branding.logoSrc) && (
          <div className="brand" data-testid="brand">
            {branding.logoSrc && (
              // eslint-disable-next-line @next/next/no-img-element -- served by this app (/login/logo); nothing for next/image to do
              <img src={branding.logoSrc} alt={branding.name ? "" : "Logo"} height={40} className="brand-logo" />
            )}
            {branding.name && <span className="brand-name">{branding.name}</span>}
          </div>
        )}
        {children}
      </main>
      {branding.links.length > 0 && (
        <footer className="page-footer">
          <nav aria-label="About this service">
            <ul>
              {branding.links.map((link) => (
                <li key={link.label}>
                  <a href={link.href} rel="noopener noreferrer">
                    {link.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        </footer>
      )}
    </div>
  );
}
