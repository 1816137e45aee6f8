/**
 * Type tests, checked by `npm run typecheck:types` (tsc, after the build): an app that imports the package
 * gets `strapi.$io` typed as strapi-io's `$io`, and the Strapi shapes the plugin relies on
 * (`lib/strapi/strapi-like.ts`) accept Strapi's real types, so a Strapi upgrade that breaks them fails
 * the build. Nothing here runs.
 */
import type { Core } from "@strapi/strapi";
import type { SocketIO, StrapiIO } from "strapi-io";
import type { StrapiContentType, StrapiLike } from "../../lib/strapi/strapi-like.ts";

/** `true` only when `A` and `B` are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true
  : false;

declare const strapi: Core.Strapi;

// Importing the package types `strapi.$io` on Strapi's own instance type.
export const $ioIsStrapiIO: Equals<typeof strapi.$io, StrapiIO> = true;
export const $ioImplementsTheContract: SocketIO = strapi.$io;

// The structural shapes accept the real ones.
export const strapiIsStrapiLike: StrapiLike = strapi;
declare const contentType: NonNullable<ReturnType<Core.Strapi["contentType"]>>;
export const contentTypeIsStrapiContentType: StrapiContentType = contentType;
