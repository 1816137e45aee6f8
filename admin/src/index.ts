/**
 * The admin side of strapi-io: one page, "Realtime", listed in the main menu for admins who may
 * `plugin::io.read`. Strapi's admin build (`strapi build`) finds it through package.json
 * `exports["./strapi-admin"]` and bundles it with the panel; nothing here runs on the server.
 */
import { Lightning } from "@strapi/icons";
import type { StrapiApp } from "@strapi/strapi/admin";
import { PERMISSIONS, PLUGIN_ID } from "./permissions.ts";

export const admin = {
  register(app: StrapiApp): void {
    app.addMenuLink({
      to: `plugins/${PLUGIN_ID}`,
      icon: Lightning,
      intlLabel: { id: `${PLUGIN_ID}.plugin.name`, defaultMessage: "Realtime" },
      Component: () =>
        import("./pages/realtime-page.tsx").then((mod) => ({ default: mod.RealtimePage })),
      permissions: PERMISSIONS.read,
    });
    app.registerPlugin({ id: PLUGIN_ID, name: PLUGIN_ID });
  },
};
