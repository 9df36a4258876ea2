// An example function that `npm run dev` runs beside the extension, on the Lambda Runtime API
// ("dev.function" in lambda-extension.json). It is a Node.js function (nodejs22.x) because node is
// wherever the toolkit runs; point "dev.function" at your own function to try the extension with it
// (ext dev --function also runs provided.al2023 bootstraps and python3.x handlers).
export const handler = async (event, context) => {
  console.log('example-function got', JSON.stringify(event));
  return { echo: event, functionName: context.functionName };
};
