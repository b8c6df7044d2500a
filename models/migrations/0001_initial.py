from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('domain', fields.CharField(unique=True, max_length=253)),
                ('name', fields.CharField(max_length=200)),
            ],
            options={'table': 'account', 'app': 'andon', 'pk_attr': 'id', 'table_description': 'A tenant. Every other row belongs to exactly one.'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='AccountConfig',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='config', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=64)),
                ('value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'account_config', 'app': 'andon', 'unique_together': (('account', 'key'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='NonProductionReason',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='non_production_reasons', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=32)),
                ('description', fields.CharField(max_length=200)),
            ],
            options={'table': 'non_production_reason', 'app': 'andon', 'unique_together': (('account', 'code'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='Plant',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='plants', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('day_start_hour', fields.SmallIntField(default=0)),
            ],
            options={'table': 'plant', 'app': 'andon', 'unique_together': (('account', 'code'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='Sku',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='skus', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('cycle_time', fields.FloatField(null=True)),
                ('value', fields.FloatField(null=True)),
                ('downtime_duration_threshold_multiplier', fields.FloatField(null=True)),
            ],
            options={'table': 'sku', 'app': 'andon', 'unique_together': (('account', 'code'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='StationGroup',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='station_groups', on_delete=OnDelete.CASCADE)),
                ('plant', fields.ForeignKeyField('andon.Plant', source_field='plant_id', db_constraint=True, to_field='id', related_name='station_groups', on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('shifts', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'station_group', 'app': 'andon', 'unique_together': (('account', 'code'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='Station',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='stations', on_delete=OnDelete.CASCADE)),
                ('plant', fields.ForeignKeyField('andon.Plant', source_field='plant_id', db_constraint=True, to_field='id', related_name='stations', on_delete=OnDelete.RESTRICT)),
                ('group', fields.ForeignKeyField('andon.StationGroup', source_field='group_id', null=True, db_constraint=True, to_field='id', related_name='stations', on_delete=OnDelete.SET_NULL)),
                ('code', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('cycle_time', fields.FloatField(null=True)),
                ('downtime_detection_mode', fields.CharField(default='off', max_length=20)),
                ('utilisation_downtime_threshold', fields.FloatField(null=True)),
                ('downtime_duration_threshold_multiplier', fields.FloatField(default=1.5)),
                ('slow_duration_threshold', fields.FloatField(null=True)),
                ('idle_cost_per_minute', fields.FloatField(null=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'station', 'app': 'andon', 'unique_together': (('account', 'code'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('role', fields.CharField(max_length=20)),
            ],
            options={'table': 'user', 'app': 'andon', 'unique_together': (('account', 'email'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='AccessCode',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='access_codes', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('created_by', fields.ForeignKeyField('andon.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='access_codes', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'access_code', 'app': 'andon', 'pk_attr': 'id', 'table_description': 'A tablet/LFD code. It alone names the account, so it is unique across accounts.'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('andon.User', source_field='user_id', db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('role', fields.CharField(null=True, max_length=20)),
                ('secret_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=16)),
            ],
            options={'table': 'api_key', 'app': 'andon', 'pk_attr': 'id', 'table_description': 'An API key. Only the SHA-256 digest of the secret is kept.'},
            bases=['Stamped'],
        ),
    ]
