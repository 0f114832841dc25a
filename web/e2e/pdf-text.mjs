// The text of a PDF that Chromium printed, for the browser tests to read what would be on paper.
// No PDF library is installed, and Chromium's (Skia's) output is regular: Flate-compressed
// content streams that show glyph codes in hex strings, each font with a ToUnicode CMap (one or
// two bytes a code, by its codespace range), and `/ActualText` spans for glyphs a CMap cannot
// name. This reads exactly that, in content-stream order, and nothing more.
import { inflateSync } from "node:zlib";

/** @typedef {{ width: number, codes: Map<string, string> }} CMap */

/** @param {string} hex UTF-16BE */
function utf16(hex) {
  return String.fromCodePoint(...(hex.match(/.{4}/g) ?? []).map((unit) => parseInt(unit, 16)));
}

/** @param {string} source @returns {CMap} */
function cmapOf(source) {
  /** @type {Map<string, string>} */
  const codes = new Map();
  const range = /begincodespacerange\s*<([0-9A-Fa-f]+)>/.exec(source);
  const width = range ? range[1].length : 4;
  for (const block of source.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const pair of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) {
      codes.set(pair[1].toUpperCase(), utf16(pair[2]));
    }
  }
  for (const block of source.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const run of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) {
      const [from, to, first] = [run[1], run[2], run[3]].map((hex) => parseInt(hex, 16));
      for (let code = from; code <= to; code++) {
        codes.set(code.toString(16).toUpperCase().padStart(width, "0"), String.fromCodePoint(first + code - from));
      }
    }
  }
  return { width, codes };
}

/** Every object's dictionary and decoded stream. @param {Buffer} pdf */
function objects(pdf) {
  const source = pdf.toString("latin1");
  /** @type {Map<string, { dict: string, stream: string | null }>} */
  const found = new Map();
  for (const match of source.matchAll(/(\d+) 0 obj\s*<<([\s\S]*?)>>\s*(stream\r?\n|endobj)/g)) {
    let stream = null;
    const length = /\/Length (\d+)\s*(?:\/|$)/.exec(match[2]);
    if (match[3].startsWith("stream") && length && match.index !== undefined) {
      const start = match.index + match[0].length;
      const raw = pdf.subarray(start, start + Number(length[1]));
      try {
        stream = (/FlateDecode/.test(match[2]) ? inflateSync(raw) : raw).toString("latin1");
      } catch {
        stream = null; // an image or a font program: not text
      }
    }
    found.set(match[1], { dict: match[2], stream });
  }
  return found;
}

/** The text every page shows, in content-stream order. @param {Buffer} pdf @returns {string} */
export function pdfText(pdf) {
  const all = objects(pdf);
  /** @type {Map<string, CMap>} resource name (/F4) → the CMap of its font */
  const fonts = new Map();
  for (const { dict } of all.values()) {
    for (const entry of dict.matchAll(/\/(F\d+) (\d+) 0 R/g)) {
      const font = all.get(entry[2]);
      const unicode = font && /\/ToUnicode (\d+) 0 R/.exec(font.dict);
      const cmap = unicode && all.get(unicode[1])?.stream;
      if (cmap) fonts.set(entry[1], cmapOf(cmap));
    }
  }
  const contents = new Set();
  for (const { dict } of all.values()) {
    for (const page of dict.matchAll(/\/Contents (\d+) 0 R/g)) contents.add(page[1]);
  }
  let text = "";
  for (const id of contents) {
    const stream = all.get(id)?.stream ?? "";
    /** @type {CMap} */
    let cmap = { width: 2, codes: new Map() };
    let replaced = false;
    const ops = /\/ActualText <([0-9A-Fa-f]*)>|\bEMC\b|\/(F\d+) [\d.]+ Tf|\[([^\]]*)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj|\bET\b/g;
    for (const op of stream.matchAll(ops)) {
      if (op[1] !== undefined) {
        text += utf16(op[1].replace(/^FEFF/i, ""));
        replaced = true;
      } else if (op[0] === "EMC") {
        replaced = false;
      } else if (op[0] === "ET") {
        text += " ";
      } else if (op[2] !== undefined) {
        cmap = fonts.get(op[2]) ?? { width: 2, codes: new Map() };
      } else if (!replaced) {
        const hexes = op[3] !== undefined ? [...op[3].matchAll(/<([0-9A-Fa-f]*)>/g)].map((m) => m[1]) : [op[4]];
        for (const hex of hexes) {
          for (let at = 0; at < hex.length; at += cmap.width) {
            text += cmap.codes.get(hex.slice(at, at + cmap.width).toUpperCase()) ?? "";
          }
        }
      }
    }
    text += "\n";
  }
  return text;
}
