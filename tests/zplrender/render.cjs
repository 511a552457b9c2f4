// Render ZPL to PNG with zpl-renderer-js (Zebrash in WebAssembly), an independent ZPL renderer
// for printstation's tests. Batch protocol: stdin is a JSON array of jobs
// {"zpl": "...", "width_mm": 58, "height_mm": 40, "dpmm": 8}; stdout is a JSON array with, per
// job, {"pngs": ["<base64 PNG>", ...]} (one PNG per ^XA…^XZ format) or {"error": "..."}.
"use strict";
const { ready } = require("zpl-renderer-js");

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const jobs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const { api } = await ready;
  const out = [];
  for (const j of jobs) {
    try {
      const pngs = await api.zplToBase64MultipleAsync(j.zpl, j.width_mm, j.height_mm, j.dpmm);
      out.push({ pngs });
    } catch (e) {
      out.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  // Exit only once the pipe took every byte: process.exit() drops what is still buffered.
  await new Promise((resolve) => process.stdout.write(JSON.stringify(out), resolve));
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
