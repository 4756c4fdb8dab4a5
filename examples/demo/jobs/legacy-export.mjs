#!/usr/bin/env node
// Spawn job, as any language would do it: read the chunk as JSON on stdin,
// print one JSON line per item on stdout. Items whose record is malformed
// (1 in 1000) fail for good (retry: false) and end in the dead-letter set.
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  input += d;
});
process.stdin.on("end", () => {
  const chunk = JSON.parse(input);
  const out = [];
  for (const item of chunk.items) {
    if (item.payload.n % 1000 === 999)
      out.push(JSON.stringify({ id: item.id, ok: false, error: "malformed record", retry: false }));
    else out.push(JSON.stringify({ id: item.id, ok: true }));
  }
  process.stdout.write(`${out.join("\n")}\n`);
});
