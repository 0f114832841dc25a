// The calls the browser tests make of pngjs (it ships no types): decoding a screenshot, and
// writing a fresh photo for a claim.
declare module "pngjs" {
  interface Image {
    width: number;
    height: number;
    data: Buffer;
  }
  export const PNG: {
    new (options: { width: number; height: number }): Image;
    sync: { read(buffer: Buffer): Image; write(image: Image): Buffer };
  };
}
