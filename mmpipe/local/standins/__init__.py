"""Stand-ins for the AWS services local mode cannot emulate, behind the cloud code's interfaces."""
