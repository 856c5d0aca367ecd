/**
 * Drives the Meta emulator's Facebook Login dialog as a browser would: opens the login URL the engine made, posts
 * the login form, then the choice form (business, Pages, Instagram accounts, permissions, or Cancel), and follows
 * the redirect to the engine's callback. Answers the callback's status and JSON body.
 */
export interface DialogChoices {
  email: string;
  password: string;
  /** The Pages and accounts ticked; default: all the dialog shows ticked (everything of the first business). */
  pageIds?: string[];
  igAccountIds?: string[];
  /** The permissions left ticked; default: all requested. */
  grantedScopes?: string[];
  businessId?: string;
  cancel?: boolean;
}

export interface CallbackAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the callback's JSON, read field by field
  body: any;
  /** Where the dialog sent the browser (the engine's callback with `code` and `state`, or Meta's error parameters). */
  callbackUrl: string;
}

function hiddenInputs(html: string): Array<[string, string]> {
  const unescape = (text: string) => text.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
  return [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1]!, unescape(match[2]!)]);
}

function checked(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`<input type="(?:checkbox|radio)" name="${name}" value="([^"]+)" checked>`, 'g'))].map((match) => match[1]!);
}

async function postForm(url: string, fields: Array<[string, string]>): Promise<Response> {
  return fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
}

/** The redirect the dialog answers (before following it to the engine). */
export async function dialogRedirect(loginUrl: string, choices: DialogChoices): Promise<string> {
  const origin = new URL(loginUrl).origin;
  const form = await fetch(loginUrl);
  if (form.status !== 200) throw new Error(`the dialog refused the login URL: ${form.status} ${await form.text()}`);
  const loggedIn = await postForm(`${origin}/dialog/oauth/login`, [...hiddenInputs(await form.text()), ['email', choices.email], ['password', choices.password]]);
  const page = await loggedIn.text();
  if (loggedIn.status !== 200) throw new Error(`the dialog refused the login: ${loggedIn.status}`);
  const fields: Array<[string, string]> = [...hiddenInputs(page), ['business_id', choices.businessId ?? checked(page, 'business_id')[0] ?? '']];
  for (const pageId of choices.pageIds ?? checked(page, 'page_ids')) fields.push(['page_ids', pageId]);
  for (const igAccountId of choices.igAccountIds ?? checked(page, 'ig_account_ids')) fields.push(['ig_account_ids', igAccountId]);
  for (const scope of choices.grantedScopes ?? checked(page, 'granted_scopes')) fields.push(['granted_scopes', scope]);
  fields.push(['action', choices.cancel ? 'cancel' : 'continue']);
  const confirmed = await postForm(`${origin}/dialog/oauth/confirm`, fields);
  const location = confirmed.headers.get('location');
  if (confirmed.status !== 303 || !location) throw new Error(`the dialog did not redirect: ${confirmed.status} ${await confirmed.text()}`);
  return location;
}

export async function loginThroughDialog(loginUrl: string, choices: DialogChoices): Promise<CallbackAnswer> {
  const callbackUrl = await dialogRedirect(loginUrl, choices);
  const answer = await fetch(callbackUrl);
  return { status: answer.status, body: await answer.json(), callbackUrl };
}
