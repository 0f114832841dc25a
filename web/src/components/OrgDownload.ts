// Saving a file the API sends (an .xlsx export), named as the service names it.
import { messageOf } from "../api/client";

/** The file name of a Content-Disposition header: the RFC 5987 `filename*` first (Chinese
 * names), else the plain `filename`. */
export function fileNameOf(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (encoded?.[1]) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain?.[1] ?? fallback;
}

/** Save what a typed client call returned (`parseAs: "blob"`); the API's message if it refused. */
export async function save(
  call: Promise<{ data?: Blob; error?: unknown; response: Response }>,
  fallback: string,
): Promise<string> {
  const { data, error, response } = await call;
  if (error !== undefined || !data) throw new Error(messageOf(error));
  const name = fileNameOf(response.headers.get("Content-Disposition"), fallback);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(data);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  return name;
}
