"""The WebSub hub built into Syndicator (W3C WebSub Recommendation, 2018): readers subscribe
to our feed URLs and are pushed new and changed items when a category is published."""
