// Files the API answers with (the Excel exports, the poster): saved under the Chinese name the
// API gives in Content-Disposition (RFC 5987 `filename*`), or shown from memory.
import { messageOf } from "./client";

export interface FileAnswer {
  data?: Blob;
  error?: unknown;
  response: Response;
}

/** The file name of `filename*=UTF-8''…`, else of `filename="…"`, else the fallback. */
export function fileNameOf(response: Response, fallback: string): string {
  const header = response.headers.get("Content-Disposition") ?? "";
  const encoded = /filename\*=(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (encoded?.[1]) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/.exec(header);
  return plain?.[1] ?? fallback;
}

/** Save the answer as a download; the API's error message when it refused. */
export function saveFile(answer: FileAnswer, fallback: string): string | null {
  if (answer.error !== undefined || !answer.data) return messageOf(answer.error);
  const url = URL.createObjectURL(answer.data);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileNameOf(answer.response, fallback);
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return null;
}
