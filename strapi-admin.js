// What Strapi's admin build imports for this plugin (package.json `exports["./strapi-admin"]`, condition
// `import`). Vite, in Strapi's build, compiles the TypeScript behind it. A default export, because the
// generated admin entry imports each plugin's admin side as `import io from "strapi-io/strapi-admin"`.
export { admin as default } from "./admin/src/index.ts";
