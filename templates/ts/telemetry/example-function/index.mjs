// An example function that `npm run dev` runs beside the extension, on the Lambda Runtime API
// ("dev.function" in lambda-extension.json). Its log lines reach the extension as Telemetry API
// `function` records, which the extension ships (with the stdout sink: as JSON lines you can see).
// It is a Node.js function (nodejs22.x) because node is wherever the toolkit runs; point
// "dev.function" at your own function to try the extension with it.
export const handler = async (event) => {
  console.log('order received', event.orderId);
  console.info('items', event.items.length, 'total', event.items.reduce((sum, item) => sum + item.price, 0));
  console.warn('stock low for', event.items[0].sku);
  return { orderId: event.orderId, status: 'accepted' };
};
