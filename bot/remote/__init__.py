"""SSH and git from the bot: one key (S3 under KMS, in memory), strict host keys, paramiko and dulwich.

`config` is light and safe to import anywhere; `keys`, `ssh` and `git` import paramiko or dulwich, so
features import them inside the function that runs a check or an archive, never at the bot's start.
"""
