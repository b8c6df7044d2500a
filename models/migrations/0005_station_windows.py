from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('andon', '0004_issue_changes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NonProductionSchedule',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='non_production_schedules', on_delete=OnDelete.CASCADE)),
                ('station', fields.ForeignKeyField('andon.Station', source_field='station_id', db_constraint=True, to_field='id', related_name='non_production_schedules', on_delete=OnDelete.CASCADE)),
                ('reason', fields.ForeignKeyField('andon.NonProductionReason', source_field='reason_id', db_constraint=True, to_field='id', related_name='schedules', on_delete=OnDelete.RESTRICT)),
                ('planned_start_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('planned_end_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'non_production_schedule', 'app': 'andon', 'indexes': [Index(fields=['station_id', 'planned_start_at'])], 'pk_attr': 'id', 'table_description': 'Planned time without production (maintenance, breaks): never downtime.'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='ProductionSchedule',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='production_schedules', on_delete=OnDelete.CASCADE)),
                ('station', fields.ForeignKeyField('andon.Station', source_field='station_id', db_constraint=True, to_field='id', related_name='production_schedules', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('andon.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='production_schedules', on_delete=OnDelete.RESTRICT)),
                ('planned_start_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('planned_end_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('planned_quantity', fields.IntField(null=True)),
            ],
            options={'table': 'production_schedule', 'app': 'andon', 'indexes': [Index(fields=['station_id', 'planned_start_at'])], 'pk_attr': 'id', 'table_description': 'A planned production run of one SKU on one station.'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='StationWindow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='station_windows', on_delete=OnDelete.CASCADE)),
                ('station', fields.ForeignKeyField('andon.Station', source_field='station_id', db_constraint=True, to_field='id', related_name='windows', on_delete=OnDelete.CASCADE)),
                ('window_start_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('total_ms', fields.IntField(default=60000)),
                ('shift_ms', fields.IntField(default=0)),
                ('scheduled_production_ms', fields.IntField(default=0)),
                ('scheduled_non_production_ms', fields.IntField(default=0)),
                ('productive_ms', fields.IntField(default=0)),
                ('downtime_ms', fields.IntField(default=0)),
                ('production_good_count', fields.IntField(default=0)),
                ('production_bad_count', fields.IntField(default=0)),
                ('cycle_time_avg', fields.FloatField(null=True)),
                ('line_speed_avg', fields.FloatField(null=True)),
                ('electrical_kwh', fields.FloatField(null=True)),
                ('rssi_avg', fields.FloatField(null=True)),
                ('is_alive', fields.BooleanField(default=False)),
                ('sku', fields.ForeignKeyField('andon.Sku', source_field='sku_id', null=True, db_constraint=True, to_field='id', related_name='windows', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'station_window', 'app': 'andon', 'unique_together': (('station', 'window_start_at'),), 'indexes': [Index(fields=['account_id', 'window_start_at'])], 'pk_attr': 'id', 'table_description': 'One station, one minute. Written by signal ingestion in batches, idempotent on replay.'},
            bases=['Model'],
        ),
    ]
