// esbuild bundles .css imports as text (loader 'text'): the notebook renderer injects the view's styles.
declare module '*.css' {
  const text: string;
  export default text;
}
