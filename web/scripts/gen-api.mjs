// Generates src/lib/api/generated/ from the server: its OpenAPI document (create_app().openapi(),
// dumped by `python -m chasm.webui.schema`) turned into TypeScript types by openapi-typescript, and
// the API key scopes. Build output, ignored by git: a changed endpoint breaks svelte-check / the build.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const out = resolve(here, "..", "src", "lib", "api", "generated");
mkdirSync(out, { recursive: true });
if (process.argv.includes("--if-missing") && existsSync(join(out, "schema.d.ts")) && existsSync(join(out, "prices.json"))) {
  process.exit(0);
}

const venvPython = join(root, ".venv", "bin", "python");
const [cmd, args] = process.env.CHASM_PYTHON
  ? [process.env.CHASM_PYTHON, []]
  : existsSync(venvPython)
    ? [venvPython, []]
    : ["uv", ["run", "--frozen", "python"]];
execFileSync(cmd, [...args, "-m", "chasm.webui.schema", out], { cwd: root, stdio: "inherit" });

const document = JSON.parse(readFileSync(join(out, "openapi.json"), "utf8"));
const ast = await openapiTS(document, { defaultNonNullable: false });
writeFileSync(join(out, "schema.d.ts"), "// Generated from the server's OpenAPI: do not edit.\n" + astToString(ast));
const scopes = readFileSync(join(out, "scopes.json"), "utf8");
writeFileSync(join(out, "scopes.ts"), "// Generated: do not edit.\nexport const SCOPES = " + scopes.trim() + " as const;\n");
console.log("API types generated in", out);
