// Library entry: each feature module re-exports its public face here.
export { native, type NativeAddon } from "./native.js";
export * from "./daemon/index.js";
