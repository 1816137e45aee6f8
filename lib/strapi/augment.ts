/**
 * Types `strapi.$io` wherever the plugin is installed, by augmenting Strapi's own `Strapi` interface (the
 * module that declares it, so the augmentation merges with the real type and cannot drift from it).
 *
 * @module
 */
import type {} from "@strapi/types/dist/core/strapi.js";
import type { StrapiIO } from "../io.ts";

declare module "@strapi/types/dist/core/strapi.js" {
  interface Strapi {
    /** strapi-io's realtime layer: content events, rooms, private messages, namespaces, entity subscriptions. */
    $io: StrapiIO;
  }
}
