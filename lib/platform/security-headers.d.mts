export interface SecurityHeader {
  key: string;
  value: string;
}
export declare const SECURITY_HEADERS: ReadonlyArray<SecurityHeader>;
export declare const JSON_CONTENT_SECURITY_POLICY: string;
export declare function strictTransportSecurity(appUrl: string): SecurityHeader | undefined;
export declare function securityHeaders(appUrl: string): SecurityHeader[];
