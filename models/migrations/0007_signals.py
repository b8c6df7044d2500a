from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('andon', '0006_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Lease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('holder', fields.CharField(max_length=100)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lease', 'app': 'andon', 'pk_attr': 'name', 'table_description': 'A named job that one gateway instance runs at a time until `expires_at` (renewed while alive).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StationState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('station', fields.OneToOneField('andon.Station', source_field='station_id', db_constraint=True, to_field='id', related_name='state', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='station_states', on_delete=OnDelete.CASCADE)),
                ('first_signal_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_signal_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('count_good_total', fields.BigIntField(null=True)),
                ('count_bad_total', fields.BigIntField(null=True)),
                ('totals_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('kwh_total', fields.FloatField(null=True)),
                ('last_output_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('productive', fields.BooleanField(null=True)),
                ('productive_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('slow_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sku', fields.ForeignKeyField('andon.Sku', source_field='sku_id', null=True, db_constraint=True, to_field='id', related_name='running_on', on_delete=OnDelete.SET_NULL)),
                ('pending_cause', fields.ForeignKeyField('andon.Cause', source_field='pending_cause_id', null=True, db_constraint=True, to_field='id', related_name='pending_on', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharField(default='running', max_length=10)),
                ('status_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'station_state', 'app': 'andon', 'pk_attr': 'id', 'table_description': 'What ingestion and detection remember about one station, shared by every gateway instance.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='StationWindow',
            name='line_speed_samples',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='StationWindow',
            name='rssi_samples',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='StationWindow',
            name='signal_count',
            field=fields.IntField(default=0),
        ),
    ]
