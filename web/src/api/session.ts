// The console's own login (扫码登录 or the dev picker): kept in this tab's sessionStorage, so a
// shared PC forgets it when the browser closes.
import { reactive } from "vue";

import type { components } from "./schema";

export type Tokens = components["schemas"]["TokensOut"];
export type Member = components["schemas"]["MemberPublic"];

const KEY = "pioneer-console-login";

interface Stored {
  accessToken: string;
  refreshToken: string;
  member: Member;
}

function load(): Stored | null {
  const text = sessionStorage.getItem(KEY);
  return text ? (JSON.parse(text) as Stored) : null;
}

export const login = reactive<{ current: Stored | null }>({ current: load() });

export function signIn(tokens: Tokens): void {
  const stored: Stored = {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    member: tokens.member,
  };
  sessionStorage.setItem(KEY, JSON.stringify(stored));
  login.current = stored;
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  login.current = null;
}
