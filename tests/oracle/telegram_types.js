// Type-checks recorded Bot API responses against @grammyjs/types under `tsc --strict`.
//
// stdin: a JSON list of {"name": "...", "type": "UserFromGetMe", "response": {...}} records
// (`type` is a @grammyjs/types name, or an expression of them such as "Update[]"). Each record
// becomes `const <name>: ApiResponse<<type>> = <response>;` in a generated .ts file (fresh object
// literals, so unknown fields are errors too); `tsc --noEmit --strict` then checks it.
// stdout: {"ok": true} or {"ok": false, "errors": ["file(line,col): message", ...]}.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const ts = require("typescript");

const records = JSON.parse(fs.readFileSync(0, "utf8"));
const names = new Set(["ApiResponse"]);
for (const record of records) {
  for (const word of record.type.match(/(?<![.\w])[A-Z]\w*/g) || []) names.add(word);
}
const lines = [
  `import type { ${[...names].sort().join(", ")} } from "@grammyjs/types";`,
  "",
];
for (const record of records) {
  if (!/^[A-Za-z_]\w*$/.test(record.name)) throw new Error(`bad record name ${record.name}`);
  lines.push(`export const ${record.name}: ApiResponse<${record.type}> = ${JSON.stringify(record.response, null, 2)};`);
  lines.push("");
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "telegram-types-"));
const file = path.join(dir, "responses.ts");
fs.writeFileSync(file, lines.join("\n"));
const options = {
  strict: true,
  noEmit: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  skipLibCheck: false,
  typeRoots: [],
  types: [],
  baseUrl: __dirname,
  paths: { "@grammyjs/types": [path.join(__dirname, "node_modules/@grammyjs/types/mod.d.ts")] },
};
const program = ts.createProgram([file], options);
const diagnostics = ts.getPreEmitDiagnostics(program);
const errors = diagnostics.map((d) => {
  const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file && d.start !== undefined) {
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${path.basename(d.file.fileName)}(${line + 1},${character + 1}): ${text}`;
  }
  return text;
});
if (process.env.TELEGRAM_TYPES_KEEP) process.stderr.write(`kept ${file}\n`);
else fs.rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify(errors.length ? { ok: false, errors } : { ok: true }) + "\n");
