/**
 * Route options of the pages and files the server serves besides the API
 * (`/docs`, `/join`, its assets and `/openapi.json`). A `HEAD` request gets the
 * status and headers of `GET` without the body, as HTTP requires. API operations
 * keep only the methods the API description declares, so `HEAD` on them gets 405.
 *
 * @example
 * app.get('/docs', STATIC_ROUTE_OPTIONS, handler);
 */
export const STATIC_ROUTE_OPTIONS = Object.freeze({ exposeHeadRoute: true });
