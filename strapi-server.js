// What Strapi's plugin loader requires (it only loads a `.js` file). Built from lib/strapi/plugin.ts by
// `npm run build`. `__esModule` tells Strapi's importDefault() to take the default export of this ES module.
export { strapiPlugin as default } from "./dist/lib/strapi/plugin.js";
export const __esModule = true;
