"""AWS adapters: the only part of edgesense that talks to AWS.

Every adapter takes typed boto3 clients from one :class:`~edgesense.aws.clients.AwsClients`
(built from provider hooks with ``aws_conn_id`` in tasks, from boto3's default chain in
the CLI), never credentials or endpoints of its own, so the same code runs on MWAA's
execution role and on the local moto_server. S3 helpers are in :mod:`edgesense.aws.s3`.
"""
