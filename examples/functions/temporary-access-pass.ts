/**
 * Issues a Temporary Access Pass (Microsoft Entra) so a new hire can sign in on day one and
 * register their own MFA: POST /v1.0/users/{upn}/authentication/temporaryAccessPassMethods on
 * Microsoft Graph. Secrets: GRAPH_TOKEN (an app token with UserAuthenticationMethod.ReadWrite.All);
 * GRAPH_URL only to point it elsewhere (a test server). The pass is in the output: send it to the
 * manager in the next step, not to the hire's new (not yet usable) mailbox.
 */
import type { FunctionContext } from '../../functions/sdk.js';

interface Input {
  userPrincipalName: string;
  /** 10 to 43200 minutes (Graph's limits). */
  lifetimeInMinutes?: number;
  isUsableOnce?: boolean;
}

interface GraphPass {
  id: string;
  temporaryAccessPass: string;
  startDateTime: string;
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
}

export default async function (input: Input, ctx: FunctionContext) {
  const token = ctx.getConfig('GRAPH_TOKEN');
  if (!token) throw new Error('secret GRAPH_TOKEN is not set: idflow secret set temporary-access-pass GRAPH_TOKEN');
  const graph = ctx.getConfig('GRAPH_URL') ?? 'https://graph.microsoft.com';
  const url = `${graph}/v1.0/users/${encodeURIComponent(input.userPrincipalName)}/authentication/temporaryAccessPassMethods`;
  const response = await ctx.fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ lifetimeInMinutes: input.lifetimeInMinutes ?? 480, isUsableOnce: input.isUsableOnce ?? false }),
  });
  if (!response.ok) {
    const detail = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new Error(
      `Graph refused the Temporary Access Pass for ${input.userPrincipalName}: ${response.status} ${detail.error?.code ?? ''} ${detail.error?.message ?? ''}`.trim(),
    );
  }
  const pass = (await response.json()) as GraphPass;
  const expiresAt = new Date(Date.parse(pass.startDateTime) + pass.lifetimeInMinutes * 60_000).toISOString();
  ctx.log(`issued pass ${pass.id} for ${input.userPrincipalName}, valid until ${expiresAt}`);
  return {
    id: pass.id,
    temporaryAccessPass: pass.temporaryAccessPass,
    startDateTime: pass.startDateTime,
    expiresAt,
    isUsableOnce: pass.isUsableOnce,
  };
}
