/**
 * The logger every module writes to. Strapi's `strapi.log` fits it as is; standalone, a console logger
 * that stays quiet at debug level is used.
 *
 * @module
 */

/** Where strapi-io reports what happens. Per-connection messages go to `debug`; nothing personal is logged. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A console logger prefixed with `[strapi-io]`; `debug` is printed only when `debug` is true. */
export function consoleLogger({ debug = false }: { debug?: boolean } = {}): Logger {
  const prefix = "[strapi-io]";
  return {
    debug: (message) => {
      if (debug) console.debug(prefix, message);
    },
    info: (message) => console.info(prefix, message),
    warn: (message) => console.warn(prefix, message),
    error: (message) => console.error(prefix, message),
  };
}

/** Renders an unknown thrown value for a log line. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
