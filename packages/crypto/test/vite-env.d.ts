// Types for the two Vite features that the tests use, declared here so that the type
// checker needs neither vite/client nor Node.js types.

declare module '*?raw' {
  const content: string;
  export default content;
}

interface ImportMeta {
  glob<T = unknown>(
    pattern: string,
    options: { query: string; import: string; eager: true },
  ): Record<string, T>;
}
