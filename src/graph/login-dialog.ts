/** The login dialog URL to send the owner to (Meta's, or any stand-in at the configured address). */
export function buildLoginDialogUrl(input: {
  dialogUrl: string;
  appId: string;
  redirectUri: string;
  state: string;
  scopes: readonly string[];
}): string {
  const url = new URL(input.dialogUrl);
  url.searchParams.set('client_id', input.appId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', input.state);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', input.scopes.join(','));
  return url.toString();
}
