// mathjs's prebuilt bundle (in its exports map, without types of its own): only its parser is used.
declare module "mathjs/lib/browser/math.js" {
  const math: { parse(text: string): unknown };
  export default math;
}
