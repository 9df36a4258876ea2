/*
 * Layer zips, byte for byte: a reader that keeps what general-purpose libraries hide (raw attributes,
 * extra fields, local headers) and a writer whose output is identical for identical contents.
 */
export * from './reader.js';
export * from './writer.js';
