"""Everything that talks to WeChat and WeCom."""
