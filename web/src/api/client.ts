// The one API client of the console, typed by the OpenAPI (schema.d.ts is generated from
// ../openapi.json by `npm run gen`; no request or response type is written by hand).
import createClient from "openapi-fetch";

import type { components, paths } from "./schema";
import { login, signIn, signOut } from "./session";

export type ErrorBody = components["schemas"]["ErrorBody"];

const REFRESH = "/api/v1/auth/refresh";

let refreshing: Promise<boolean> | null = null;

/** Rotate the console's refresh token once, however many requests found the access token
 * expired at the same moment. */
async function refreshOnce(): Promise<boolean> {
  const current = login.current;
  if (!current) return false;
  refreshing ??= (async () => {
    const response = await fetch(REFRESH, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refreshToken }),
    });
    if (!response.ok) return false;
    signIn((await response.json()) as components["schemas"]["TokensOut"]);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function authorised(request: Request): Request {
  const token = login.current?.accessToken;
  if (!token || request.headers.has("Authorization")) return request;
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}

async function send(request: Request): Promise<Response> {
  const retry = request.clone();
  const response = await fetch(authorised(request));
  if (response.status !== 401 || !login.current) return response;
  const body = (await response.clone().json()) as ErrorBody;
  if (body.code === "token_expired" && (await refreshOnce())) {
    return fetch(authorised(retry));
  }
  signOut();
  return response;
}

export const api = createClient<paths>({ baseUrl: "", fetch: send });

/** The message the API worded for the person in front of the screen. */
export function messageOf(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) {
    const message = (error as { message: unknown }).message;
    if (typeof message === "string") return message;
  }
  return "网络异常，请稍后重试";
}
