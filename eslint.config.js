import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "dist-packages/", "node_modules/", "native/", "coverage/", "target/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The stand-in runtime is plain JavaScript in the real package's module formats, CommonJS glue included.
    files: ["test/fixtures/runmat-fake/**/*.js", "test/fixtures/runmat-fake/**/*.cjs"],
    languageOptions: {
      globals: { require: "readonly", module: "writable", __dirname: "readonly", WebAssembly: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", fetch: "readonly", Response: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  { files: ["test/fixtures/runmat-fake/node/*.js"], languageOptions: { sourceType: "commonjs" } },
);
