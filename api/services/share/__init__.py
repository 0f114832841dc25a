"""Sharing a published board in the branch's WeChat group, and every code the mini-program scans.

- `scenes`: the short codes a 小程序码's scene carries, and each code's image from WeChat (asked
  once, kept);
- `images`: the poster (with its code) and the 5:4 share card drawn from a board, drawn once;
- `links`: the board's URL Link for outside WeChat, kept until it nearly expires;
- `nudges`: the notice to whoever shares a new board, its monthly reminder, who the branch names;
- `cards`: what the share screen gets (signed image links, title, path) and the signed images;
- `resolve`: what a scanned or opened code names (a board, a member card, a meeting check-in).

Import the module you need: `publication` itself uses `scenes` and `nudges`, and `cards` and
`resolve` read boards through `publication`.
"""
