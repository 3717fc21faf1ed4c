"""The shopfn CDK app: one construct per concern, wired together by `ShopfnStack`."""
